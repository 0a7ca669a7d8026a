"""Evidence, measured in PyTorch, for six claims of a popular article about learning rate 0.

    python3 -m zerolr.torch_claims [--seed S]

Small torch.nn models (Linear(6,8)-ReLU-Linear(8,1), optionally with BatchNorm1d(8) after
the first layer) are trained with BCEWithLogitsLoss by an ordinary loop: shuffled
minibatches drawn with a seeded torch.Generator, zero_grad, backward, step, and an eval-mode
test loss after each epoch. The output is one JSON object, the same for the same seed:
``{"torch_version", "seed", "freeze", "test_loss_frozen", "fluctuations", "state_advances",
"adam_vs_sgd", "non_finite"}``, each claim as ``{"verdict", "evidence", "held", "runs"}``,
where ``held`` counts the runs in which the article's statement held.
"""

import argparse
import json
import math
from collections import OrderedDict, namedtuple

import torch
from torch import nn

torch.set_num_threads(1)

N_TRAIN, N_TEST, FEATURES, HIDDEN, BATCH, EPOCHS = 64, 64, 6, 8, 16, 5
SEEDS_PER_CLAIM = 3
ROUNDING = 1e-6  # a relative change that float32 rounding can explain (about 8 ulps)
MOMENTUM_SGD = "SGD(momentum=0.9)"

# The optimizers of the freeze check: name, class, keyword arguments besides lr.
OPTIMIZERS = [
    (MOMENTUM_SGD, torch.optim.SGD, {"momentum": 0.9}),
    ("Adam", torch.optim.Adam, {}),
    ("AdamW(weight_decay=0.01)", torch.optim.AdamW, {"weight_decay": 0.01}),
    ("RMSprop", torch.optim.RMSprop, {}),
    ("Adagrad", torch.optim.Adagrad, {}),
    ("NAdam", torch.optim.NAdam, {}),
    ("RAdam", torch.optim.RAdam, {}),
    ("Adamax", torch.optim.Adamax, {}),
    ("Adadelta", torch.optim.Adadelta, {}),
    ("ASGD", torch.optim.ASGD, {}),
    ("Rprop", torch.optim.Rprop, {}),
]

# One training run at lr = 0: its seed, whether the model has BatchNorm, the epoch-mean
# training losses, the test losses, and whether every parameter stayed bit-identical.
Run = namedtuple("Run", "seed batchnorm train_losses test_losses frozen")


# --- data, models, training -------------------------------------------------------------------

def make_optimizer(name, params, lr):
    """The optimizer called ``name`` in OPTIMIZERS over ``params`` at learning rate ``lr``."""
    _, cls, kwargs = next(entry for entry in OPTIMIZERS if entry[0] == name)
    return cls(params, lr=lr, **kwargs)


def make_data(seed, nan_at=None):
    """Train and test sets ``(X, y)`` of a noisy linear rule; ``nan_at=(i, j)`` puts a NaN in X_train."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(N_TRAIN + N_TEST, FEATURES, generator=gen)
    w = torch.randn(FEATURES, generator=gen)
    noise = 0.5 * torch.randn(N_TRAIN + N_TEST, generator=gen)
    y = ((x @ w + noise) > 0).float().unsqueeze(1)
    train_set, test_set = (x[:N_TRAIN].clone(), y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])
    if nan_at is not None:
        train_set[0][nan_at] = math.nan
    return train_set, test_set


def make_model(seed, batchnorm=False):
    """The MLP, initialised from ``seed``, with BatchNorm1d after fc1 when ``batchnorm``."""
    torch.manual_seed(seed)
    layers = [("fc1", nn.Linear(FEATURES, HIDDEN))]
    if batchnorm:
        layers.append(("bn", nn.BatchNorm1d(HIDDEN)))
    layers += [("relu", nn.ReLU()), ("fc2", nn.Linear(HIDDEN, 1))]
    return nn.Sequential(OrderedDict(layers))


def train(model, optimizer, data, epochs, order_seed):
    """Trains for ``epochs`` epochs; returns the epoch-mean training losses and the test losses."""
    (x, y), (x_test, y_test) = data
    loss_fn = nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(order_seed)
    train_losses, test_losses = [], []
    for _ in range(epochs):
        model.train()
        running, batches = 0.0, 0
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            running += loss.item()
            batches += 1
        train_losses.append(running / batches)
        model.eval()
        with torch.no_grad():
            test_losses.append(loss_fn(model(x_test), y_test).item())
    return train_losses, test_losses


def snapshot(model):
    """A copy of every parameter, by name."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def frozen(before, model):
    """Whether every parameter is bit-identical (torch.equal) to ``before``."""
    return all(torch.equal(p.detach(), before[name]) for name, p in model.named_parameters())


def largest_move(before, model):
    """``(name, index, old, new)`` of the parameter element that moved most (None if none moved)."""
    best = None
    for name, p in model.named_parameters():
        delta = (p.detach() - before[name]).abs().flatten()
        i = int(delta.argmax())
        if delta[i] > 0 and (best is None or delta[i] > best[0]):
            old, new = float(before[name].flatten()[i]), float(p.detach().flatten()[i])
            best = (float(delta[i]), name, _unravel(i, p.shape), old, new)
    return None if best is None else best[1:]


def _unravel(flat_index, shape):
    """The index of element ``flat_index`` of a tensor of ``shape``, as text ("0,3")."""
    index = []
    for size in reversed(shape):
        flat_index, i = divmod(flat_index, size)
        index.append(i)
    return ",".join(str(i) for i in reversed(index))


def relative_spread(values):
    """(max - min) / |first|: how far a list of losses moved, relative to its first value."""
    return (max(values) - min(values)) / abs(values[0])


def seeds(base):
    """The seeds of one claim's runs."""
    return [base + i for i in range(SEEDS_PER_CLAIM)]


def claim(verdict, evidence, held, runs):
    """One claim's entry of the output."""
    return {"verdict": verdict, "evidence": evidence, "held": held, "runs": runs}


# --- the claims ---------------------------------------------------------------------------

def check_freeze(base):
    """lr = 0 with finite gradients: which optimizers leave every parameter bit-identical."""
    held, runs, moved = 0, 0, {}
    for name, _, _ in OPTIMIZERS:
        for seed in seeds(base):
            model = make_model(seed)
            before = snapshot(model)
            train(model, make_optimizer(name, model.parameters(), 0.0), make_data(seed), EPOCHS, seed)
            runs += 1
            if frozen(before, model):
                held += 1
            else:
                moved.setdefault(name, largest_move(before, model) + (seed,))
    still = [name for name, _, _ in OPTIMIZERS if name not in moved]
    evidence = (
        f"After {EPOCHS} epochs at lr = 0, {held} of {runs} runs (optimizer x seed) left every parameter "
        f"torch.equal to its initial value: frozen under {', '.join(still) or 'none'}; "
        f"moved under {', '.join(moved) or 'none'}."
    )
    if not moved:
        return claim("Holds for every optimizer tried.", evidence, held, runs)
    if "Rprop" in moved:
        evidence += " " + _rprop_first_step(base)
    example = "Rprop" if "Rprop" in moved else next(iter(moved))
    pname, index, old, new, seed = moved[example]
    evidence += (
        f" Example ({example}, seed {seed}): after {EPOCHS} epochs the largest move was "
        f"{pname}[{index}]: {old!r} -> {new!r}."
    )
    verdict = (
        f"Does not hold for {', '.join(moved)}: weights still move at lr = 0; "
        f"the other {len(still)} optimizers froze them."
    )
    return claim(verdict, evidence, held, runs)


def _rprop_first_step(seed):
    """One Rprop step at lr = 0, compared with w - 1e-6 * sign(g) computed in float32."""
    model = make_model(seed)
    (x, y), _ = make_data(seed)
    optimizer = torch.optim.Rprop(model.parameters(), lr=0.0)
    nn.BCEWithLogitsLoss()(model(x[:BATCH]), y[:BATCH]).backward()
    before = snapshot(model)
    step = torch.tensor(1e-6)
    expected = {name: before[name] - p.grad.sign() * step for name, p in model.named_parameters()}
    optimizer.step()
    exact = sum(int((p.detach() == expected[name]).sum()) for name, p in model.named_parameters())
    total = sum(p.numel() for p in model.parameters())
    return (
        f"Rprop's first step at lr = 0 set {exact} of {total} weights to exactly w - 1e-6*sign(g) "
        "(its step size starts at lr = 0 and is clamped up to step_size_min = 1e-6, then grows "
        "by etaplus while the gradient keeps its sign)."
    )


def frozen_runs(base):
    """Runs of SGD(momentum=0.9) at lr = 0, without and with BatchNorm."""
    runs = []
    for batchnorm in (False, True):
        for seed in seeds(base):
            model = make_model(seed, batchnorm)
            before = snapshot(model)
            optimizer = make_optimizer(MOMENTUM_SGD, model.parameters(), 0.0)
            train_losses, test_losses = train(model, optimizer, make_data(seed), EPOCHS, seed)
            runs.append(Run(seed, batchnorm, train_losses, test_losses, frozen(before, model)))
    return runs


def check_test_loss_frozen(runs):
    """The eval-mode test loss at lr = 0, epoch by epoch, without and with BatchNorm."""
    plain = [r for r in runs if not r.batchnorm]
    bn = [r for r in runs if r.batchnorm]
    plain_held = sum(len(set(r.test_losses)) == 1 for r in plain)
    bn_held = sum(len(set(r.test_losses)) == 1 for r in bn)
    bn_frozen = sum(r.frozen for r in bn)
    example = bn[0]
    evidence = (
        f"Without BatchNorm the test loss was bit-identical in all {EPOCHS} epochs in {plain_held} of "
        f"{len(plain)} runs; with BatchNorm1d (train mode in training) in {bn_held} of {len(bn)}, "
        f"although the parameters stayed torch.equal in {bn_frozen} of {len(bn)}. Example (seed "
        f"{example.seed}, BatchNorm): test loss {example.test_losses[0]!r} after epoch 1, "
        f"{example.test_losses[-1]!r} after epoch {EPOCHS}."
    )
    if plain_held < len(plain):
        verdict = "Does not hold: the test loss changed at lr = 0 even without BatchNorm."
    elif bn_held < len(bn):
        verdict = ("Holds without BatchNorm; with BatchNorm the running statistics move at lr = 0 "
                   "and the test loss changes.")
    else:
        verdict = "Holds with and without BatchNorm."
    return claim(verdict, evidence, plain_held + bn_held, len(runs))


def check_fluctuations(runs):
    """Whether loss fluctuations at lr = 0 are of rounding size (relative change <= ROUNDING).

    Without BatchNorm: the epoch-mean training loss, whose minibatches differ between epochs.
    With BatchNorm: the eval-mode test loss.
    """
    plain_spread = [relative_spread(r.train_losses) for r in runs if not r.batchnorm]
    bn = [r for r in runs if r.batchnorm]
    bn_spread = [relative_spread(r.test_losses) for r in bn]
    exactly_equal = sum(spread == 0 for spread in plain_spread)
    held = sum(spread <= ROUNDING for spread in plain_spread + bn_spread)
    worst = max(range(len(bn)), key=lambda i: bn_spread[i])
    example = bn[worst]
    comparison = "far above" if bn_spread[worst] > 100 * ROUNDING else "compared with"
    evidence = (
        f"Without BatchNorm the epoch-mean training loss over shuffled minibatches was exactly equal "
        f"across epochs in {exactly_equal} of {len(plain_spread)} runs, with a largest relative "
        f"difference of {max(plain_spread):.3g} (float32 sums of different minibatches). With BatchNorm "
        f"the test loss moved by up to {bn_spread[worst]:.3g} relative (seed {example.seed}: "
        f"{min(example.test_losses)!r} to {max(example.test_losses)!r}), {comparison} rounding ({ROUNDING:g})."
    )
    if max(plain_spread) > ROUNDING:
        verdict = "Does not hold: without BatchNorm too the loss moved by more than rounding."
    elif max(bn_spread) > ROUNDING:
        verdict = ("Holds without BatchNorm (last-bit differences only); with BatchNorm the change "
                   "is not rounding.")
    else:
        verdict = "Holds: every fluctuation is of rounding size."
    return claim(verdict, evidence, held, len(plain_spread) + len(bn_spread))


def check_state_advances(base, warmup_epochs=EPOCHS, lr=1e-2):
    """Adam at lr = 0 advances its state; a zero warm-up changes the training that follows."""
    held, results = 0, []
    for seed in seeds(base):
        data = make_data(seed)
        warm = make_model(seed)
        before = snapshot(warm)
        optimizer = torch.optim.Adam(warm.parameters(), lr=0.0)
        train(warm, optimizer, data, warmup_epochs, seed)
        state = optimizer.state[warm.fc1.weight]
        steps, exp_avg = float(state["step"]), float(state["exp_avg"].abs().max())
        params_frozen = frozen(before, warm)
        for group in optimizer.param_groups:
            group["lr"] = lr
        # Both runs then see the same minibatches, from the same initial weights.
        _, warm_losses = train(warm, optimizer, data, EPOCHS, seed + 1000)
        cold = make_model(seed)
        _, cold_losses = train(cold, torch.optim.Adam(cold.parameters(), lr=lr), data, EPOCHS, seed + 1000)
        held += warm_losses == cold_losses
        results.append((seed, steps, exp_avg, params_frozen, warm_losses[-1], cold_losses[-1]))
    seed, steps, exp_avg, params_frozen, warm_loss, cold_loss = results[0]
    evidence = (
        f"After {warmup_epochs * N_TRAIN // BATCH} Adam steps at lr = 0 (seed {seed}) state['step'] = "
        f"{steps:g} and max |exp_avg| of fc1.weight = {exp_avg:.3g}, parameters "
        f"{'unchanged' if params_frozen else 'changed'}; then {EPOCHS} epochs at lr = {lr:g} end at test "
        f"loss {warm_loss!r} with the zero warm-up and {cold_loss!r} without. The two trajectories were "
        f"identical in {held} of {len(results)} seeds."
    )
    if held < len(results):
        verdict = "Does not hold: Adam's state advances at lr = 0 and changes the training that follows."
    else:
        verdict = "Holds: the zero warm-up left the later training unchanged."
    return claim(verdict, evidence, held, len(results))


def check_adam_vs_sgd(base):
    """At lr = 0, Adam and SGD give bit-identical test-loss histories (float32)."""
    held, runs, example = 0, 0, None
    for batchnorm in (False, True):
        for seed in seeds(base):
            histories = []
            for name in ("Adam", MOMENTUM_SGD):
                model = make_model(seed, batchnorm)
                optimizer = make_optimizer(name, model.parameters(), 0.0)
                histories.append(train(model, optimizer, make_data(seed), EPOCHS, seed)[1])
            runs += 1
            held += histories[0] == histories[1]
            if batchnorm and example is None:
                example = (seed, histories[0][-1], histories[1][-1])
    seed, adam_loss, sgd_loss = example
    evidence = (
        f"The {EPOCHS}-epoch test-loss histories of Adam and {MOMENTUM_SGD} at lr = 0 were "
        f"bit-identical in {held} of {runs} runs (float32, {SEEDS_PER_CLAIM} seeds without and with "
        f"BatchNorm). Example (seed {seed}, BatchNorm): final test loss {adam_loss!r} with Adam, "
        f"{sgd_loss!r} with SGD."
    )
    if held == runs:
        verdict = ("Holds: at lr = 0 the choice between Adam and SGD does not change the test loss "
                   "(so there is no optimizer noise for Adam to reduce).")
    else:
        verdict = "Does not hold: Adam and SGD gave different test losses at lr = 0."
    return claim(verdict, evidence, held, runs)


def check_non_finite(base, names=(MOMENTUM_SGD, "Adam", "AdamW(weight_decay=0.01)", "RMSprop")):
    """A NaN in one training input at lr = 0: does it reach the weights (0 * NaN = NaN)?"""
    held, runs, example = 0, 0, None
    for name in names:
        for seed in seeds(base):
            model = make_model(seed)
            data = make_data(seed, nan_at=(5, 2))
            train(model, make_optimizer(name, model.parameters(), 0.0), data, 1, seed)
            nan_counts = {pname: (int(p.isnan().sum()), p.numel()) for pname, p in model.named_parameters()}
            runs += 1
            if all(nans == 0 for nans, _ in nan_counts.values()):
                held += 1
            elif example is None:
                example = (name, seed, nan_counts)
    evidence = (
        f"With one NaN feature in one training sample, {runs - held} of {runs} runs at lr = 0 "
        "ended with NaN parameters."
    )
    if example is not None:
        name, seed, counts = example
        listed = ", ".join(f"{pname} {nans}/{size}" for pname, (nans, size) in counts.items() if nans)
        evidence += f" Example ({name}, seed {seed}, one epoch): NaN entries in {listed}."
    if held < runs:
        verdict = "Does not hold: at lr = 0 the step still applies 0 * NaN = NaN and poisons the weights."
    else:
        verdict = "Holds: the NaN did not reach the weights."
    return claim(verdict, evidence, held, runs)


def measure(seed):
    """The JSON-ready evidence for every claim, from runs seeded by ``seed``."""
    runs = frozen_runs(seed)
    return {
        "torch_version": torch.__version__,
        "seed": seed,
        "freeze": check_freeze(seed),
        "test_loss_frozen": check_test_loss_frozen(runs),
        "fluctuations": check_fluctuations(runs),
        "state_advances": check_state_advances(seed),
        "adam_vs_sgd": check_adam_vs_sgd(seed),
        "non_finite": check_non_finite(seed),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m zerolr.torch_claims",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="base seed of data, models and minibatch order")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.seed), indent=2))


if __name__ == "__main__":
    main()
