import sys, json, os, torch
cfg, ckpt = sys.argv[1], sys.argv[2]
out = sys.argv[sys.argv.index('--out-metrics') + 1]
sd = torch.load(ckpt, map_location='cpu')
json.dump({'epoch': sd['meta']['epoch'], 'w': [round(float(v), 6) for v in sd['state_dict']['linear.weight'].flatten()]}, open(out, 'w'))
open('runs.log', 'a').write('test %s\n' % os.path.basename(cfg))
