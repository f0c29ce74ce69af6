//! ONNX export of a trained [`ConvNet`]: opset 17, IR 8, one input `input`
//! `[N, channels, size, size]` and one output `probabilities` `[N, 2]` with a symbolic batch
//! dimension `N`, weights as float initializers (raw little-endian data), dropout left out
//! (it is the identity at inference) and the softmax included. Written with the generated
//! onnx.proto bindings of `onnx-protobuf`; there is no maintained Rust ONNX writer for burn
//! modules.

use super::model::{ConvNet, ConvNetConfig};
use burn::module::Param;
use burn::tensor::Tensor;
use onnx_protobuf::tensor_shape_proto::dimension::Value as DimValue;
use onnx_protobuf::tensor_shape_proto::Dimension;
use onnx_protobuf::type_proto::{Tensor as TensorType, Value as TypeValue};
use onnx_protobuf::{
    attribute_proto::AttributeType, AttributeProto, GraphProto, Message, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// Name of the graph input.
pub const INPUT_NAME: &str = "input";
/// Name of the graph output (softmax probabilities, column 1 the positive class).
pub const OUTPUT_NAME: &str = "probabilities";
/// ONNX operator set of the exported graph.
pub const OPSET: i64 = 17;

fn value_info(name: &str, dims: &[DimValue]) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    for d in dims {
        let mut dim = Dimension::new();
        dim.value = Some(d.clone());
        shape.dim.push(dim);
    }
    let mut tensor = TensorType::new();
    tensor.elem_type = 1; // FLOAT
    tensor.shape = Some(shape).into();
    let mut ty = TypeProto::new();
    ty.value = Some(TypeValue::TensorType(tensor));
    let mut v = ValueInfoProto::new();
    v.name = name.into();
    v.type_ = Some(ty).into();
    v
}

fn initializer<const D: usize>(name: &str, t: &Param<Tensor<D>>) -> Result<TensorProto, String> {
    let v = t.val();
    let dims: Vec<i64> = v.dims().iter().map(|&d| d as i64).collect();
    let data: Vec<f32> = v
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| format!("weights of {name}: {e:?}"))?;
    let mut p = TensorProto::new();
    p.name = name.into();
    p.dims = dims;
    p.data_type = 1;
    p.raw_data = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(p)
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = AttributeType::INTS.into();
    a.ints = v.to_vec();
    a
}

fn int(name: &str, v: i64) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = AttributeType::INT.into();
    a.i = v;
    a
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.name = output.into();
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.output = vec![output.into()];
    n.attribute = attrs;
    n
}

/// The ONNX model of `net` (shape from `cfg`) as serialised bytes.
pub fn export_onnx(net: &ConvNet, cfg: &ConvNetConfig, name: &str) -> Result<Vec<u8>, String> {
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut x = INPUT_NAME.to_string();
    for (i, (conv, &k)) in net.convs.iter().zip(&cfg.kernels).enumerate() {
        let (w, b) = (format!("conv{i}.weight"), format!("conv{i}.bias"));
        inits.push(initializer(&w, &conv.weight)?);
        let bias = conv
            .bias
            .as_ref()
            .ok_or_else(|| format!("convolution {i} has no bias"))?;
        inits.push(initializer(&b, bias)?);
        let p = (k / 2) as i64;
        let y = format!("conv{i}");
        nodes.push(node(
            "Conv",
            &[&x, &w, &b],
            &y,
            vec![
                ints("kernel_shape", &[k as i64, k as i64]),
                ints("pads", &[p, p, p, p]),
                ints("strides", &[1, 1]),
            ],
        ));
        let r = format!("relu{i}");
        nodes.push(node("Relu", &[&y], &r, vec![]));
        x = r;
        if matches!(i, 0 | 1 | 4) {
            let m = format!("pool{i}");
            nodes.push(node(
                "MaxPool",
                &[&x],
                &m,
                vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
            ));
            x = m;
        }
    }
    nodes.push(node("Flatten", &[&x], "flat", vec![int("axis", 1)]));
    x = "flat".into();
    for (i, (lin, relu)) in [(&net.fc1, true), (&net.fc2, true), (&net.out, false)]
        .into_iter()
        .enumerate()
    {
        let (w, b) = (format!("fc{i}.weight"), format!("fc{i}.bias"));
        // burn's Linear weight is [in, out]: Y = X W + b, Gemm without transposition
        inits.push(initializer(&w, &lin.weight)?);
        let bias = lin
            .bias
            .as_ref()
            .ok_or_else(|| format!("linear layer {i} has no bias"))?;
        inits.push(initializer(&b, bias)?);
        let y = if relu {
            format!("fc{i}")
        } else {
            "logits".to_string()
        };
        nodes.push(node("Gemm", &[&x, &w, &b], &y, vec![]));
        x = y;
        if relu {
            let r = format!("fc{i}.relu");
            nodes.push(node("Relu", &[&x], &r, vec![]));
            x = r;
        }
    }
    nodes.push(node("Softmax", &[&x], OUTPUT_NAME, vec![int("axis", 1)]));
    let mut g = GraphProto::new();
    g.name = name.into();
    g.node = nodes;
    g.initializer = inits;
    let s = cfg.input_size as i64;
    g.input = vec![value_info(
        INPUT_NAME,
        &[
            DimValue::DimParam("N".into()),
            DimValue::DimValue(cfg.in_channels as i64),
            DimValue::DimValue(s),
            DimValue::DimValue(s),
        ],
    )];
    g.output = vec![value_info(
        OUTPUT_NAME,
        &[DimValue::DimParam("N".into()), DimValue::DimValue(2)],
    )];
    let mut opset = OperatorSetIdProto::new();
    opset.domain = String::new();
    opset.version = OPSET;
    let mut m = ModelProto::new();
    m.ir_version = 8;
    m.opset_import = vec![opset];
    m.producer_name = "pancseg-train".into();
    m.producer_version = env!("CARGO_PKG_VERSION").into();
    m.graph = Some(g).into();
    m.write_to_bytes().map_err(|e| e.to_string())
}
