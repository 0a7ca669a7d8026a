"""A hand-written optimizer to audit: plain SGD, w <- w - lr * g."""

import torch


class HandSGD(torch.optim.Optimizer):
    """Stochastic gradient descent without momentum or weight decay."""

    def __init__(self, params, lr=0.01):
        if lr < 0:
            raise ValueError(f"invalid learning rate: {lr}")
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        return loss
