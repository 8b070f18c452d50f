// Move the store's generation (GraphStore.generation), in the transaction of the write that may change a liveness
// answer (after a round publish's last batch, for a publish): readers that see the new count see the write.
MERGE (g:Generation {name: 'answers'})
ON CREATE SET g.epoch = randomUUID(), g.count = 0
SET g.count = g.count + 1
