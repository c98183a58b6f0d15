"""Reading a knowledge base: files, YAML with places, records, and the problems of loading."""
