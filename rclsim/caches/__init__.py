"""The optional per-process and on-disk memories (file contents by stamp, validation verdicts by content and
schema), behind one staleness rule (kept.file_stamp).
"""
