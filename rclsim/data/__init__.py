"""Images, Ground Truth manifests, response folders and the evaluation that scores answers against ground
truth.
"""
