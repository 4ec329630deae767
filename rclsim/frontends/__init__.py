"""Thin adapters over the one way into the fake (FakeRekognition.call): the boto3 drop-in and its hook, the
wire protocol and local endpoint, the pytest plugin, the CLI, and the start/stop helpers.
"""
