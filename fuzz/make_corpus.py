#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/TARGET/ (deterministic).

fuzz_train and fuzz_optimizer_plugin decode their inputs with FuzzedDataProvider, which reads
integers from the end of the input: any bytes make a case, so their seeds are pseudo-random
byte strings of several lengths (a fixed seed), plus a few structured ones (all zeros, all
0xff). fuzz_parse's seeds are texts, one per parser, valid and invalid: a first byte names
the parser (see fuzz_parse.cpp).

    python3 fuzz/make_corpus.py          # rewrites the seeds; files you added stay
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
REGRESSIONS = os.path.join(HERE, "..", "properties", "regressions")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def binary_seeds(target, seed, count):
    rng = random.Random(seed)
    sizes = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    for i in range(count):
        n = sizes[i % len(sizes)]
        write(target, "seed-%02d" % i, bytes(rng.randrange(256) for _ in range(n)))
    write(target, "zeros-64", bytes(64))
    write(target, "ones-64", b"\xff" * 64)
    write(target, "empty", b"")


PARSE = {
    "O": ["sgd", "sgd(lr=0.1,momentum=0.9,nesterov=1)", "adam(beta1=0.9,beta2=0.999,eps=1e-8,amsgrad=true)",
          "adamw(weight_decay=0.01)", "rmsprop(alpha=0.99,centered=1,momentum=0.5)",
          "adagrad(lr_decay=0,initial_accumulator_value=0.1,eps=0x1p-30)",
          "sgd(nesterov=1)", "adam(beta1=2)", "adam(lr=nan)", "sgd(lr=1e999)", "adamw(weight_decay=0.1,weight_decay=0.2)",
          "lbfgs()", "adam(", "sgd(momentum=0.9,,)", "sgd(lr=-0)"],
    "A": ["input(4),dense(16),batchnorm,relu,dense(1)", "input(3),layernorm,dense(4),softplus(beta=2,threshold=10),dropout(p=0.2),dense(1)",
          "input(2),dense(units=3,init=he_normal),leaky_relu(slope=0.2),dense(2,init=xavier_uniform)",
          "input(1),dense(16777217)", "input(0),dense(1)", "input(3),dropout(p=1.5)", "dense(1)", "input(2),,dense(1)",
          "input(2),batchnorm(momentum=0.1,eps=1e-5),tanh,sigmoid,dense(1)"],
    "L": ["mse", "bce", "cross_entropy", "huber(delta=0.5)", "huber(delta=0)", "huber(delta=1,delta=2)", "mae", "huber("],
    "S": ["constant", "step(step_size=10,gamma=0.5)", "cosine(t_max=100,min_factor=0.1)",
          "linear(start_factor=0,end_factor=1,steps=5)", "sequence(0,0,1,0.5)", "warmup(steps=3,start_factor=0)+cosine(t_max=10)",
          "step(step_size=0,gamma=0.5)", "step(step_size=9223372036854775807,gamma=2)", "cosine(t_max=-1)",
          "sequence()", "warmup(steps=1)+warmup(steps=2)+constant"],
    "V": ["zerolr-vec-v1|scalar=float|check=non_finite|params=0x0p+0|lrs=0x0p+0|grads=inf",
          "zerolr-vec-v1|scalar=double|check=signed_zero|params=-0x0p+0|lrs=0x0p+0|grads=-0x1p+0",
          "zerolr-vec-v1|scalar=double|check=agreement|params=0x1p+0,-0x1.8p-3|lrs=0x1p-10,0x0p+0|grads=0x1p+0,0x1p-1;0x1p+2,nan",
          "zerolr-vec-v1|scalar=double|check=freeze|params=|lrs=0|grads=",
          "zerolr-vec-v1|scalar=half|check=freeze|params=1|lrs=0|grads=1",
          "zerolr-vec-v1|scalar=double|check=freeze|params=1|lrs=-1|grads=1"],
    "D": ["y\nx,y\n1,2\n3,4\n", "label\n\"a,b\",label\n1.5,0\n-2e-3,1\n", "y\nx,y\n1,nan\n", "y\nx,y\n1\n",
          "y\nx,y\n1,1e999\n", "y\nx,\"y\n1,2\n", "y\n\n", "t\na,b\n1,2\n", "y\nx,x,y\n1,2,3\n"],
    "F": ["y\nx1,x2,y\n0.1,0x1p-149,1\n1e38,-1e-45,0\n", "y\nx,y\n3.5e38,1\n", "y\n\"x\"\"q\",y\n1,2\n\n\n"],
    "P": ["raise", "skip", "apply", "uniform", "normal", "heavy_tailed", "wide_range", "zeros", "subnormal",
          "not_float", "non_finite", "Raise", ""],
}


def parse_seeds():
    i = 0
    for kind, texts in PARSE.items():
        for t in texts:
            write("fuzz_parse", "%s-%02d" % (kind, i), kind + t)
            i += 1
    # The property suite's regression tokens are real case tokens.
    if os.path.isdir(REGRESSIONS):
        for name in sorted(os.listdir(REGRESSIONS)):
            if name.endswith(".token"):
                with open(os.path.join(REGRESSIONS, name)) as f:
                    lines = [l.strip() for l in f if l.strip().startswith("zerolr-case-v1|")]
                for k, line in enumerate(lines):
                    write("fuzz_parse", "C-%s-%d" % (name[:-6], k), "C" + line)
                    write("fuzz_parse", "C-%s-%d-cut" % (name[:-6], k), "C" + line[: len(line) // 2])


if __name__ == "__main__":
    binary_seeds("fuzz_train", 1, 30)
    binary_seeds("fuzz_optimizer_plugin", 2, 30)
    parse_seeds()
