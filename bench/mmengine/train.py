# A real MMEngine training, shaped like MMDetection 3.x's tools/train.py: config, --work-dir,
# --resume (auto: MMEngine reads <work_dir>/last_checkpoint), --cfg-options.
import argparse, os, time
import torch
from torch import nn
from torch.utils.data import Dataset
from mmengine.config import Config, DictAction
from mmengine.model import BaseModel
from mmengine.registry import MODELS, DATASETS
from mmengine.runner import Runner

@MODELS.register_module()
class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            time.sleep(float(os.environ.get('STEP_SECONDS', '0')))
            return {'loss': ((out - labels) ** 2).mean()}
        return out

@DATASETS.register_module()
class ToyDataset(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.rand(32, 2, generator=g)
        self.y = self.x.sum(1, keepdim=True)
    def __len__(self):
        return 32
    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])

p = argparse.ArgumentParser()
p.add_argument('config'); p.add_argument('--work-dir'); p.add_argument('--resume', nargs='?', const='auto')
p.add_argument('--cfg-options', nargs='+', action=DictAction)
a = p.parse_args()
cfg = Config.fromfile(a.config)
if a.cfg_options: cfg.merge_from_dict(a.cfg_options)
cfg.work_dir = a.work_dir
if a.resume == 'auto': cfg.resume = True; cfg.load_from = None
open('runs.log', 'a').write('train %s resume=%s\n' % (os.path.basename(a.config), a.resume))
runner = Runner.from_cfg(cfg)
runner.train()
