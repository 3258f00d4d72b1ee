"""Everything that touches the graph database: the only package that imports the neo4j driver."""
