"""The PyTorch side of `npm run bench:step`: one training step of the same model at the same batch, built and run by
the COSMOS reference's own code (cosmos_torch.py over cosmos_reference.py, as the fixtures are), timed on the CPU.

    /usr/bin/python3 scripts/bench_step_torch.py probe          exits 0 when everything imports
    /usr/bin/python3 scripts/bench_step_torch.py '<json>'       prints one JSON object on stdout

The JSON argument: {"config": an OpenCLIP model config, "mode": "cosmos" | "clip", "batch", "local_size",
"local_count", "warmup", "reps", "lr", "weight_decay", "momentum"}. The batch has our shapes: 2 global views at the
model's image size, `local_count` local views at `local_size`, 2 global and `local_count` local captions of 77 ids
(random pixels and ids: the cost does not depend on them). A COSMOS step is cosmos_torch.training_step (both losses,
backward, teacher EMA, AdamW, logit scales clamped); a CLIP step is the reference's ClipLoss of the 2 global views
against every caption, backward, AdamW, logit scale clamped, with no teacher, as our CLIP mode. Each step is timed
with 1 and with 2 threads (torch.set_num_threads) and the faster is reported. FLOPs come from torch's own profiler
(one extra step): the matrix products it counts (mm, addmm, bmm, baddbmm, conv2d forward), not our count.
"""
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))

import torch  # noqa: E402

import cosmos_reference as ref  # noqa: E402
import cosmos_torch as ct  # noqa: E402

if sys.argv[1:] == ["probe"]:
    sys.exit(0)

SOT, EOT = 49406, 49407
MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::conv2d"}
THREADS = (1, 2)


def caption_ids(batch, context, generator):
    """[batch, context] rows of SOT, random ids and EOT, zero padding after: CLIP's layout, lengths like ours."""
    ids = torch.zeros(batch, context, dtype=torch.long)
    for row in ids:
        length = int(torch.randint(8, 40, (1,), generator=generator))
        row[0], row[length - 1] = SOT, EOT
        row[1:length - 1] = torch.randint(1, SOT, (length - 2,), generator=generator)
    return ids


def make_batch(spec, generator):
    b, size, context = spec["batch"], spec["config"]["vision_cfg"]["image_size"], spec["config"]["text_cfg"]["context_length"]
    global_images = [torch.randn(b, 3, size, size, generator=generator) for _ in range(2)]
    local_images = [torch.randn(b, 3, spec["local_size"], spec["local_size"], generator=generator) for _ in range(spec["local_count"])]
    captions = [caption_ids(b, context, generator) for _ in range(2 + spec["local_count"])]
    return global_images, local_images, captions


def clip_step(model, optimizer, batch):
    """L_clip alone: the 2 global views against every caption, as our CLIP mode trains."""
    global_images, _, captions = batch
    optimizer.zero_grad()
    out = model(torch.cat(global_images), torch.cat(captions))
    loss = ref.open_clip.loss.ClipLoss()(out["image_features"].chunk(2), out["text_features"].chunk(len(captions)), out["logit_scale"])
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))


def stepper(spec):
    torch.manual_seed(0)
    student = ref.cosmos_clip(spec["config"])
    optimizer = ct.adamw(student, lr=spec["lr"], weight_decay=spec["weight_decay"])
    batch = make_batch(spec, torch.Generator().manual_seed(1))
    if spec["mode"] == "clip":
        return lambda: clip_step(student, optimizer, batch)
    teacher = ref.cosmos_clip(spec["config"])
    teacher.load_state_dict(student.state_dict())
    return lambda: ct.training_step(student, teacher, optimizer, batch, spec["momentum"])


def time_steps(step, warmup, reps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return times


def profiled_gflop(step):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    return sum(e.flops for e in prof.key_averages() if e.key in MATMUL_OPS) / 1e9


def blas_name():
    """Which BLAS torch's products run on: Debian's torch takes whichever libblas.so.3 is installed."""
    with open("/proc/self/maps") as f:
        return "OpenBLAS" if any("libopenblas" in line for line in f) else "reference BLAS (install libopenblas0-pthread)"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "CPU"


def main():
    spec = json.loads(sys.argv[1])
    step = stepper(spec)
    by_threads = {}
    for threads in THREADS:
        torch.set_num_threads(threads)
        by_threads[threads] = time_steps(step, spec["warmup"], spec["reps"])
    threads = min(THREADS, key=lambda t: statistics.median(by_threads[t]))
    torch.set_num_threads(threads)
    times = by_threads[threads]
    print(json.dumps({
        "torch": torch.__version__,
        "adapter": f"{cpu_name()}, torch {torch.__version__}, {blas_name()}, {threads} thread{'s' if threads > 1 else ''}",
        "threads": threads,
        "median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
        "median_ms_by_threads": {str(t): statistics.median(v) for t, v in by_threads.items()},
        "gflop": profiled_gflop(step),
    }))


main()
