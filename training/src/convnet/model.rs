//! The ConvNet of the paper's family (DeepOrgan Sec. 2.3): five convolution layers with max
//! pooling after the 1st, 2nd and 5th, two fully connected layers with dropout, and a two-way
//! output (softmax applied by [`ConvNet::probabilities`] and inside the exported ONNX graph).
//! Channel widths, kernel sizes, FC width, dropout and the input shape are configuration, so one
//! definition serves the P-, R1-, R2- and boundary ConvNets. Convolutions are zero-padded to keep
//! the size ("same"); pooling is 2x2 with stride 2, so the input side must be divisible by 8.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// How the weights of the convolutions and hidden fully connected layers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WeightInit {
    /// He et al. 2015: normal with variance 2 / fan-in, which keeps the signal's variance
    /// through ReLU layers. The default: with the uniform start below, a
    /// CT-only 64x64 network (R1) stayed near chance for epochs (docs/results/convnets.md).
    #[default]
    He,
    /// burn's (and PyTorch's) layer default, uniform with bound sqrt(1 / fan-in): the signal
    /// shrinks about 6x in variance per ReLU layer. The project's earliest networks used it.
    Uniform,
}

impl WeightInit {
    /// The start of networks whose `train.json` predates the `init` field.
    fn legacy() -> Self {
        WeightInit::Uniform
    }

    /// burn's initializer for a hidden layer (`None`: the layer's own default).
    fn initializer(self) -> Option<Initializer> {
        match self {
            WeightInit::He => Some(Initializer::KaimingNormal {
                gain: std::f64::consts::SQRT_2,
                fan_out_only: false,
            }),
            WeightInit::Uniform => None,
        }
    }
}

/// Shape and widths of a ConvNet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvNetConfig {
    /// Input channels (P: 3 planes; R1: CT; R2: CT + P0; boundary: CT + 2 masks).
    pub in_channels: usize,
    /// Input side in pixels (square), divisible by 8.
    pub input_size: usize,
    /// Output channels of the five convolutions.
    pub widths: [usize; 5],
    /// Kernel sides of the five convolutions (odd).
    pub kernels: [usize; 5],
    /// Width of the two hidden fully connected layers.
    pub fc: usize,
    /// Dropout probability after each hidden fully connected layer (training only).
    pub dropout: f64,
    /// Start of the hidden layers' weights (the output layer keeps burn's default).
    #[serde(default = "WeightInit::legacy")]
    pub init: WeightInit,
}

impl ConvNetConfig {
    /// The default network for an input of `in_channels x size x size`: conv 32/64/64/64/64
    /// (kernels 5, 5, 3, 3, 3), FC 256, dropout 0.5 — the widths that train at several hundred
    /// examples per second on the 2-core development machine.
    pub fn standard(in_channels: usize, input_size: usize) -> Self {
        ConvNetConfig {
            in_channels,
            input_size,
            widths: [32, 64, 64, 64, 64],
            kernels: [5, 5, 3, 3, 3],
            fc: 256,
            dropout: 0.5,
            init: WeightInit::He,
        }
    }

    /// Checks the shape constraints; returns a message naming the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.in_channels == 0 || self.fc == 0 || self.widths.contains(&0) {
            return Err("channel counts and FC width must be positive".into());
        }
        if self.input_size == 0 || self.input_size % 8 != 0 {
            return Err(format!(
                "input size {} is not a positive multiple of 8 (three 2x2 poolings)",
                self.input_size
            ));
        }
        if self.kernels.iter().any(|k| k % 2 == 0) {
            return Err(format!("kernel sizes {:?} must be odd", self.kernels));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }

    /// Inputs of the first fully connected layer: the last width times (size / 8)^2.
    pub fn flat_features(&self) -> usize {
        self.widths[4] * (self.input_size / 8).pow(2)
    }

    /// Multiply-accumulate operations of one forward pass (convolutions and FC layers).
    pub fn forward_macs(&self) -> u64 {
        let mut side = self.input_size as u64;
        let mut cin = self.in_channels as u64;
        let mut macs = 0u64;
        for (i, (&w, &k)) in self.widths.iter().zip(&self.kernels).enumerate() {
            macs += side * side * cin * w as u64 * (k * k) as u64;
            cin = w as u64;
            if matches!(i, 0 | 1 | 4) {
                side /= 2;
            }
        }
        let flat = self.flat_features() as u64;
        let fc = self.fc as u64;
        macs + flat * fc + fc * fc + fc * 2
    }

    /// A freshly initialised network on `device`.
    pub fn init(&self, device: &Device) -> ConvNet {
        let start = self.init.initializer();
        let hidden = |c: LinearConfig| match &start {
            Some(i) => c.with_initializer(i.clone()),
            None => c,
        };
        let mut cin = self.in_channels;
        let mut convs = Vec::with_capacity(5);
        for (&w, &k) in self.widths.iter().zip(&self.kernels) {
            let p = k / 2;
            let mut c = Conv2dConfig::new([cin, w], [k, k])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p));
            if let Some(i) = &start {
                c = c.with_initializer(i.clone());
            }
            convs.push(c.init(device));
            cin = w;
        }
        ConvNet {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: hidden(LinearConfig::new(self.flat_features(), self.fc)).init(device),
            fc2: hidden(LinearConfig::new(self.fc, self.fc)).init(device),
            out: LinearConfig::new(self.fc, 2).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// The network; see the module documentation for its layers.
#[derive(Module, Debug)]
pub struct ConvNet {
    pub convs: Vec<Conv2d>,
    pub pool: MaxPool2d,
    pub fc1: Linear,
    pub fc2: Linear,
    pub out: Linear,
    pub dropout: Dropout,
}

impl ConvNet {
    /// Logits `[batch, 2]` of inputs `[batch, channels, size, size]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for (i, conv) in self.convs.iter().enumerate() {
            x = relu(conv.forward(x));
            if matches!(i, 0 | 1 | 4) {
                x = self.pool.forward(x);
            }
        }
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.dropout.forward(relu(self.fc1.forward(x)));
        let x = self.dropout.forward(relu(self.fc2.forward(x)));
        self.out.forward(x)
    }

    /// Class probabilities `[batch, 2]` (column 1: the organ / "same label").
    pub fn probabilities(&self, x: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(x), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// Spread (std over a batch) of the logit difference of a fresh R1-shaped network.
    fn logit_spread(init: WeightInit) -> f64 {
        let device = burn::tensor::Device::flex();
        let cfg = ConvNetConfig {
            init,
            ..ConvNetConfig::standard(1, 64)
        };
        let net = cfg.init(&device);
        // inputs in the range of the HU normalisation ([-0.5, 0.5])
        let x = Tensor::<4>::random([16, 1, 64, 64], Distribution::Uniform(-0.5, 0.5), &device);
        let logits: Vec<f32> = net.forward(x).into_data().try_to_vec().unwrap();
        let d: Vec<f64> = logits.chunks(2).map(|l| (l[0] - l[1]) as f64).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
    }

    #[test]
    fn he_start_keeps_the_signal_that_the_uniform_start_loses() {
        // uniform: about 1/6 of the variance survives each of the 7 ReLU layers (std ratio
        // ~2e-3 overall); He keeps it: the outputs differ between inputs hundreds of times more
        let (he, uniform) = (
            logit_spread(WeightInit::He),
            logit_spread(WeightInit::Uniform),
        );
        assert!(he > 20.0 * uniform, "he {he}, uniform {uniform}");
    }

    #[test]
    fn configs_written_before_the_init_field_read_as_uniform() {
        let mut v = serde_json::to_value(ConvNetConfig::standard(1, 64)).unwrap();
        assert_eq!(v["init"], "he");
        v.as_object_mut().unwrap().remove("init");
        let old: ConvNetConfig = serde_json::from_value(v).unwrap();
        assert_eq!(old.init, WeightInit::Uniform);
    }
}
