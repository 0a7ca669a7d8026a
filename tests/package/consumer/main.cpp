// Trains a tiny model at lr = 0 through the public headers and checks that it froze.
#include <zerolr/nn/sequential.h>
#include <zerolr/train/trainer.h>

#include <cstdio>

int main() {
  using namespace zerolr;
  const auto arch = Architecture::parse("input(3),dense(4),relu,dense(1)");
  Sequential<double> model(arch, 7);
  const Sequential<double> initial = model;
  const auto data = regression_toy<double>(16, 3, 1);
  auto opt = make_optimizer<double>(parse_optimizer_spec("adam(lr=0)"));
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  Trainer<double> trainer(model, LossSpec::parse("mse"), *opt, options);
  const auto history = trainer.fit(data, &data);
  Sequential<double> before = initial;
  const auto p0 = before.parameters();
  const auto p1 = model.parameters();
  for (std::size_t i = 0; i < p0.size(); ++i)
    if (*p0[i].value != *p1[i].value) {
      std::printf("consumer: %s moved at lr = 0\n", p0[i].name.c_str());
      return 1;
    }
  if (history.test_loss[0] != history.test_loss[1]) {
    std::printf("consumer: the test loss moved at lr = 0\n");
    return 1;
  }
  std::printf("consumer: ok, test loss %.17g\n", static_cast<double>(history.test_loss[0]));
  return 0;
}
