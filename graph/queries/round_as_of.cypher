// The as-of date of one published round.
MATCH (rd:Round {round_id: $round_id})
RETURN rd.as_of AS as_of
