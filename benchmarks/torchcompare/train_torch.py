"""Train GPT-2 in PyTorch on the model and batch that torchcompare wrote.

torchcompare (main.go beside this file) runs this script with Debian's
/usr/bin/python3 and python3-torch (PyTorch 1.13). It reads
<model>/config.json, <model>/model.safetensors and a JSON batch, trains
--warmup + --steps AdamW steps on that one batch, and prints one JSON line
with the first-step loss, the timed steps' tokens per second and the
process's peak resident memory (VmHWM).

The model follows transformers' GPT2LMHeadModel (v4): pre-LayerNorm
blocks, Conv1D weights stored [in, out], tanh-approximated GELU
("gelu_new") and an output projection tied to wte.
"""

import argparse
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_safetensors(path):
    """Return {name: float32 tensor} from a safetensors file with F32 data."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, want F32")
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + start : base + end]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"])
    return tensors


class Block(torch.nn.Module):
    def __init__(self, C, NH, eps):
        super().__init__()
        self.NH, self.eps = NH, eps
        self.ln_1_w = torch.nn.Parameter(torch.empty(C))
        self.ln_1_b = torch.nn.Parameter(torch.empty(C))
        self.c_attn_w = torch.nn.Parameter(torch.empty(C, 3 * C))
        self.c_attn_b = torch.nn.Parameter(torch.empty(3 * C))
        self.attn_proj_w = torch.nn.Parameter(torch.empty(C, C))
        self.attn_proj_b = torch.nn.Parameter(torch.empty(C))
        self.ln_2_w = torch.nn.Parameter(torch.empty(C))
        self.ln_2_b = torch.nn.Parameter(torch.empty(C))
        self.c_fc_w = torch.nn.Parameter(torch.empty(C, 4 * C))
        self.c_fc_b = torch.nn.Parameter(torch.empty(4 * C))
        self.mlp_proj_w = torch.nn.Parameter(torch.empty(4 * C, C))
        self.mlp_proj_b = torch.nn.Parameter(torch.empty(C))

    def forward(self, x, mask):
        B, T, C = x.shape
        HS = C // self.NH
        h = F.layer_norm(x, (C,), self.ln_1_w, self.ln_1_b, self.eps)
        qkv = torch.addmm(self.c_attn_b, h.view(B * T, C), self.c_attn_w).view(B, T, 3, self.NH, HS)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, NH, T, HS]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B * T, C)
        x = x + torch.addmm(self.attn_proj_b, y, self.attn_proj_w).view(B, T, C)
        h = F.layer_norm(x, (C,), self.ln_2_w, self.ln_2_b, self.eps)
        h = torch.addmm(self.c_fc_b, h.view(B * T, C), self.c_fc_w)
        h = F.gelu(h, approximate="tanh")
        return x + torch.addmm(self.mlp_proj_b, h, self.mlp_proj_w).view(B, T, C)


# Safetensors name suffix of each Block parameter.
BLOCK_NAMES = {
    "ln_1_w": "ln_1.weight", "ln_1_b": "ln_1.bias",
    "c_attn_w": "attn.c_attn.weight", "c_attn_b": "attn.c_attn.bias",
    "attn_proj_w": "attn.c_proj.weight", "attn_proj_b": "attn.c_proj.bias",
    "ln_2_w": "ln_2.weight", "ln_2_b": "ln_2.bias",
    "c_fc_w": "mlp.c_fc.weight", "c_fc_b": "mlp.c_fc.bias",
    "mlp_proj_w": "mlp.c_proj.weight", "mlp_proj_b": "mlp.c_proj.bias",
}


class GPT2(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        C = cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon") or 1e-5
        self.wte = torch.nn.Parameter(weights["wte.weight"].clone())
        self.wpe = torch.nn.Parameter(weights["wpe.weight"].clone())
        self.blocks = torch.nn.ModuleList()
        for layer in range(cfg["n_layer"]):
            blk = Block(C, cfg["n_head"], self.eps)
            for attr, suffix in BLOCK_NAMES.items():
                getattr(blk, attr).data.copy_(weights[f"h.{layer}.{suffix}"])
            self.blocks.append(blk)
        self.ln_f_w = torch.nn.Parameter(weights["ln_f.weight"].clone())
        self.ln_f_b = torch.nn.Parameter(weights["ln_f.bias"].clone())

    def forward(self, ids, targets):
        B, T = ids.shape
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self.wte[ids] + self.wpe[:T]
        for blk in self.blocks:
            x = blk(x, mask)
        x = F.layer_norm(x, (x.shape[-1],), self.ln_f_w, self.ln_f_b, self.eps)
        logits = x.view(B * T, -1) @ self.wte.t()
        return F.cross_entropy(logits, targets.view(-1), ignore_index=-100)


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="folder with config.json and model.safetensors")
    ap.add_argument("--batch", required=True, help="JSON file with B, T, ids and targets")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before the timed ones")
    ap.add_argument("--steps", type=int, default=5, help="timed optimizer steps")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(f"{args.model}/config.json") as f:
        cfg = json.load(f)
    weights = read_safetensors(f"{args.model}/model.safetensors")
    model = GPT2(cfg, weights)
    del weights
    with open(args.batch) as f:
        batch = json.load(f)
    B, T = batch["B"], batch["T"]
    ids = torch.tensor(batch["ids"], dtype=torch.long).view(B, T)
    targets = torch.tensor(batch["targets"], dtype=torch.long).view(B, T)

    # Weight decay on tensors with 2+ dimensions only, as finetune.AdamW.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
    )

    losses, times = [], []
    cpu_start = 0.0
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(ids, targets)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())

    cpu_seconds = time.process_time() - cpu_start
    timed = times[args.warmup:]
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "losses": losses,
        "step_seconds": timed,
        "tokens_per_second": B * T * len(timed) / sum(timed),
        "peak_rss_kib": peak_rss_kib(),
        "cpu_seconds": cpu_seconds,
    }))


if __name__ == "__main__":
    sys.exit(main())
