_base_ = ['../_base_/models/cfar.py', '../_base_/datasets/sardet_mini.py']

model = dict(type='CACFAR')
