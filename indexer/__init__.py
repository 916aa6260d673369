"""Read archives of Arabic articles, analyze them and build the Whoosh index.

Data flows one way: ``readers`` (files -> Article records) -> ``analysis``
(the one Arabic analyzer) -> ``writer`` (records -> index on disk).
"""
