"""The fake core (core.FakeRekognition) and its pluggable parts: response sources (recordings, simulation),
the model lifecycle, the clock, the state store, the cost meter.
"""
