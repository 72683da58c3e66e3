# SARDet-mini: the synthetic SAR detection dataset (SARDet-100K layout: Annotations/, JPEGImages/).
_base_ = '../default_runtime.py'

dataset_type = 'SARDetMini'
data_root = 'data/SARDet-mini/'
classes = ('ship', 'aircraft', 'car', 'tank', 'bridge', 'harbor')

train_dataloader = dict(
    dataset=dict(type='SARDetMini', data_root='data/SARDet-mini/',
                 ann_file='Annotations/train.json', data_prefix=dict(img='JPEGImages/train/')))
val_dataloader = dict(
    dataset=dict(type='SARDetMini', data_root='data/SARDet-mini/',
                 ann_file='Annotations/val.json', data_prefix=dict(img='JPEGImages/val/')))
test_dataloader = dict(
    dataset=dict(type='SARDetMini', data_root='data/SARDet-mini/',
                 ann_file='Annotations/test.json', data_prefix=dict(img='JPEGImages/test/')))
val_evaluator = dict(type='CocoMetric', metric='bbox')
test_evaluator = dict(type='CocoMetric', metric='bbox')
