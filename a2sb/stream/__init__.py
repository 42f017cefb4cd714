"""Streaming restoration: audio of any length in memory independent of its length (SPEC 7).

The file is read in blocks, encoded, sampled and decoded in time order and written in blocks;
the output equals the in-memory MultiDiffusion sampler's (:mod:`a2sb.restoration`) for the same
seed. Modules: :mod:`.buffer` (frame buffers), :mod:`.stft` (block STFT and inverse),
:mod:`.plan` (windows, masks, the context each frame's X1 reads), :mod:`.wavefront` (the
sampler over a moving band of frames), :mod:`.restore` (the pipeline) and :mod:`.files`
(block reading, resampling and atomic block writing).
"""
