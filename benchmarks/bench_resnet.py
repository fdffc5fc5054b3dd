"""NotesResNet vs transformers' ResNetForImageClassification of the same depth: training and inference images/s and
peak memory, interleaved in one process (median of repeats), with NCHW and channels_last inputs.

Both models hold the same weights (transformers' state dict loads key for key into ours) and do the same math; the
differences are engineering: ours runs in NHWC whatever the input layout (`use_channels_last`, one input copy),
uses in-place ReLUs and residual sums, and at inference folds BN into the convolutions. The row
"notes, NCHW kept" switches the NHWC conversion off, to show what the rest contributes on its own. All variants of
a mode run interleaved in one group, so every ratio is taken under the same machine load.

    python benchmarks/bench_resnet.py                                   # ResNet-50, batch 8 at 160x160, 1 thread
    python benchmarks/bench_resnet.py --batch_size 16 --image_size 224 --skip_inference --layouts nchw
                                                   # the issue's setting (about 3 minutes on 2 cores)
    python benchmarks/bench_resnet.py --threads 2 --depth 18

CPU defaults are small so that the run takes ~2-3 minutes on 2 cores; one thread by default, because on a shared
machine a 2-thread OpenMP region waits for a descheduled thread at every op and the timings become noise. On a GPU
the comparison also covers bf16 autocast + channels_last.
"""

import contextlib
import copy

import torch
from transformers import ResNetConfig, ResNetForImageClassification

from bench_utils import common_arguments, compare, report

import hf_nlpnotes
from hf_nlpnotes import NotesResNetForImageClassification

DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3]),
          101: ("bottleneck", [3, 4, 23, 3]), 152: ("bottleneck", [3, 8, 36, 3])}


def build_models(depth: int, device):
    layer_type, depths = DEPTHS[depth]
    hidden_sizes = [64, 128, 256, 512] if layer_type == "basic" else [256, 512, 1024, 2048]
    reference = ResNetForImageClassification(
        ResNetConfig(layer_type=layer_type, depths=depths, hidden_sizes=hidden_sizes, num_labels=1000)
    )
    ours = NotesResNetForImageClassification(hf_nlpnotes.load_preset(f"resnet-{depth}"))
    ours.load_state_dict(reference.state_dict())  # same weights, key for key
    ours_nchw = NotesResNetForImageClassification(hf_nlpnotes.load_preset(f"resnet-{depth}", use_channels_last=False))
    ours_nchw.load_state_dict(reference.state_dict())
    return reference.to(device), ours.to(device), ours_nchw.to(device)


def check_same_outputs(reference, ours, pixel_values):
    reference.eval(), ours.eval()
    with torch.no_grad():
        difference = (reference(pixel_values).logits - ours(pixel_values).logits).abs().max().item()
    if difference > 1e-3:
        raise RuntimeError(f"the two models disagree (max logit difference {difference}); the comparison is void")
    return difference


def training_step(model, optimizer, pixel_values, labels, autocast):
    optimizer.zero_grad(set_to_none=True)
    with autocast():
        loss = model(pixel_values=pixel_values, labels=labels).loss
    loss.backward()
    optimizer.step()


def main():
    parser = common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=50, choices=sorted(DEPTHS))
    parser.add_argument("--batch_size", type=int, default=None, help="default: 8 on CPU, 64 on GPU")
    parser.add_argument("--image_size", type=int, default=None, help="default: 160 on CPU, 224 on GPU")
    parser.add_argument("--layouts", default="nchw,channels_last", help="comma-separated subset of: nchw,channels_last")
    parser.add_argument("--skip_inference", action="store_true")
    parser.add_argument("--skip_training", action="store_true")
    parser.set_defaults(repeats=5, warmup=1, threads=1)
    for action in parser._actions:
        if action.dest == "threads":
            action.help = "torch CPU threads (default here: 1, see above; 0: torch's choice)"
    args = parser.parse_args()
    on_gpu = torch.device(args.device).type == "cuda"
    if args.threads and not on_gpu:
        torch.set_num_threads(args.threads)
    batch_size = args.batch_size or (64 if on_gpu else 8)
    image_size = args.image_size or (224 if on_gpu else 160)
    torch.manual_seed(0)

    reference, ours, ours_nchw = build_models(args.depth, args.device)
    pixel_values = torch.randn(batch_size, 3, image_size, image_size, device=args.device)
    labels = torch.randint(0, 1000, (batch_size,), device=args.device)
    difference = check_same_outputs(reference, ours, pixel_values)
    print(
        f"ResNet-{args.depth}, batch {batch_size} at {image_size}x{image_size}, device {args.device}, "
        f"threads {torch.get_num_threads()}, repeats {args.repeats}; max logit difference {difference:.1e}"
    )

    nchw_input = pixel_values
    channels_last_input = pixel_values.contiguous(memory_format=torch.channels_last)
    # (name, model, input, autocast); all in ONE interleaved group, so that every ratio is measured under the same
    # machine load. Ours with NCHW input runs NHWC inside (use_channels_last); "NCHW kept" switches that off.
    no_autocast = contextlib.nullcontext
    layouts = args.layouts.split(",")
    variants = []
    if "nchw" in layouts:
        variants += [
            ("transformers, NCHW", reference, nchw_input, no_autocast),
            ("notes, NCHW input", ours, nchw_input, no_autocast),
            ("notes, NCHW kept", ours_nchw, nchw_input, no_autocast),
        ]
    reference_cl = copy.deepcopy(reference).to(memory_format=torch.channels_last)
    if "channels_last" in layouts:
        variants += [
            ("transformers, channels_last", reference_cl, channels_last_input, no_autocast),
            ("notes, channels_last", ours, channels_last_input, no_autocast),
        ]
    if on_gpu:
        bf16 = lambda: torch.autocast("cuda", dtype=torch.bfloat16)  # noqa: E731
        variants += [
            ("transformers, bf16 + ch_last", reference_cl, channels_last_input, bf16),
            ("notes, bf16 + ch_last", ours, channels_last_input, bf16),
        ]
    references = [name for name, *_ in variants if name.startswith("transformers")]

    modes = [] if args.skip_training else ["training"]
    modes += [] if args.skip_inference else ["inference"]
    for mode in modes:
        candidates = {}
        for name, model, inputs, autocast in variants:
            if mode == "training":
                model.train()
                # each candidate owns a copy: the SGD steps of one must not change the weights another one uses
                model = copy.deepcopy(model)
                optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                candidates[name] = lambda m=model, o=optimizer, x=inputs, a=autocast: training_step(m, o, x, labels, a)
            else:
                model.eval()

                def infer(m=model, x=inputs, a=autocast):
                    with torch.inference_mode(), a():
                        m(pixel_values=x)

                candidates[name] = infer
        results = compare(candidates, batch_size, "images", args.device, args.repeats, args.warmup)
        title = "training (forward + backward + SGD step)" if mode == "training" else "inference"
        for reference_name in references:
            report(f"{title}, ratios vs {reference_name}", results, "images", reference_name)
    print("\n(peak memory on CPU: growth of the process's peak RSS while one candidate runs alone; coarse)")


if __name__ == "__main__":
    main()
