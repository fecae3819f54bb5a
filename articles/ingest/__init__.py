"""Ingest: bringing scraped story files into the newsroom.

Stages, each its own module:

- formats.py: reading and parsing one file (pure functions, no database);
- matching.py: the people and topics a story names, related titles' targets;
- duplicates.py: near-copies of stored stories' bodies;
- reading.py: all that is learnt of a file before storing it, read ahead in a
  second process for large imports;
- store.py: ArticleImporter, which stores files in batches (its docstring has
  the API other code calls);
- rawsql.py: the hand-written SQL the storing needs, with its contract;
- vocabulary.py: loading the people and topics to recognise.

Around them the operations (runs, the watched folder, uploads from the admin,
background imports).
"""
