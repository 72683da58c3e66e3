model = dict(type='ToyModel')
train_dataloader = dict(dataset=dict(type='ToyDataset'), sampler=dict(type='DefaultSampler', shuffle=True), collate_fn=dict(type='default_collate'), batch_size=4, num_workers=0)
train_cfg = dict(by_epoch=True, max_epochs=6)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=4))
randomness = dict(seed=0)
default_scope = 'mmengine'
