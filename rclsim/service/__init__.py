"""Facts about the service, no behaviour: the operations and error codes, the parameter checks derived from
botocore's model, the JSON Schemas, the JSON file reader.
"""
