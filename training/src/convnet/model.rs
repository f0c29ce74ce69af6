//! The ConvNet of the paper's family (DeepOrgan Sec. 2.3): five convolution layers with max
//! pooling after the 1st, 2nd and 5th, two fully connected layers with dropout, and a two-way
//! output (softmax applied by [`ConvNet::probabilities`] and inside the exported ONNX graph).
//! Channel widths, kernel sizes, FC width, dropout and the input shape are configuration, so one
//! definition serves the P-, R1-, R2- and boundary ConvNets. Convolutions are zero-padded to keep
//! the size ("same"); pooling is 2x2 with stride 2, so the input side must be divisible by 8.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

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
        let mut cin = self.in_channels;
        let mut convs = Vec::with_capacity(5);
        for (&w, &k) in self.widths.iter().zip(&self.kernels) {
            let p = k / 2;
            convs.push(
                Conv2dConfig::new([cin, w], [k, k])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                    .init(device),
            );
            cin = w;
        }
        ConvNet {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(self.flat_features(), self.fc).init(device),
            fc2: LinearConfig::new(self.fc, self.fc).init(device),
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
