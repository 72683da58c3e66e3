# Runtime settings shared by every SARDet-mini experiment.
default_scope = 'sardet_mini'
seed = 0
log_level = 'INFO'
load_from = None
