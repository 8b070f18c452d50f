// The store's generation (GraphStore.generation): [epoch, count], [null, 0] before the first write moved it. The
// epoch is drawn when the node is made, so a graph cleared or re-imported never repeats an old generation.
OPTIONAL MATCH (g:Generation {name: 'answers'})
RETURN g.epoch AS epoch, coalesce(g.count, 0) AS count
