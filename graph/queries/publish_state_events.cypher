// What the diff publish compares a round's records with: per Event and DeathRecord the hash of its content (h)
// and of its link to a person (l) as last published; null when written without them.
MATCH (e:Event|DeathRecord)
RETURN e.key AS key, e.h AS h, e.l AS l
