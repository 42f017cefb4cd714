"""Baselines of the paper behind one small interface (CQTDiff, MAID, IBAR, AudioSR): not built yet."""
