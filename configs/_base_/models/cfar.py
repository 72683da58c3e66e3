# Classical CFAR detectors: common hyper-parameters. Sizes are in pixels.
model = dict(
    type='CACFAR',
    test_cell=3,     # side of the test cell averaged before comparing with the clutter level
    guard=5,         # guard half-width: the target's own pixels stay out of the clutter estimate
    window=12,       # training-window half-width
    rank=0.75,       # OS-CFAR: order statistic of the ring samples, as a fraction
    pfa=1e-4,        # false-alarm probability per test cell (calibrated from train_cfg.pfa_grid)
    min_area=6,      # blobs smaller or larger than this (pixels above threshold) are dropped
    max_area=5000,
    dilate=1,        # joins fragments of one target that lie within 2 px
)

# "Training" calibrates the false-alarm rate and window on the train split.
train_cfg = dict(
    pfa_grid=[1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8],
    window_grid=[12],
    metric='AP50',
)

# The "pretrained weights": clutter statistics estimated on the train split by `sardet prior`.
checkpoint = 'artifacts/weights/sardet_mini_clutter_prior.json'
