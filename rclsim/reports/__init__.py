"""OpenCV annotators, side-by-side images, text/table output and the precision-recall plot; never imported by
the core or the detect path.
"""
