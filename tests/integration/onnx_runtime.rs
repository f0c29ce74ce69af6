//! Proves that the ONNX Runtime library loads through pancseg's lookup and runs a graph: a tiny
//! model (y = relu(x + b)) is built here with onnx-protobuf, serialised and run through ort.

use onnx_protobuf::tensor_shape_proto::dimension::Value as DimValue;
use onnx_protobuf::tensor_shape_proto::Dimension;
use onnx_protobuf::type_proto::{Tensor as TensorType, Value as TypeValue};
use onnx_protobuf::{
    GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};

fn value_info(name: &str) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    for d in [DimValue::DimParam("N".into()), DimValue::DimValue(3)] {
        let mut dim = Dimension::new();
        dim.value = Some(d);
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

fn tiny_model() -> Vec<u8> {
    let mut b = TensorProto::new();
    b.name = "b".into();
    b.dims = vec![3];
    b.data_type = 1;
    b.raw_data = [1.0f32, -2.0, 0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut add = NodeProto::new();
    add.op_type = "Add".into();
    add.input = vec!["x".into(), "b".into()];
    add.output = vec!["s".into()];
    let mut relu = NodeProto::new();
    relu.op_type = "Relu".into();
    relu.input = vec!["s".into()];
    relu.output = vec!["y".into()];
    let mut g = GraphProto::new();
    g.name = "tiny".into();
    g.node = vec![add, relu];
    g.initializer = vec![b];
    g.input = vec![value_info("x")];
    g.output = vec![value_info("y")];
    let mut opset = OperatorSetIdProto::new();
    opset.version = 17;
    let mut m = ModelProto::new();
    m.ir_version = 8;
    m.opset_import = vec![opset];
    m.producer_name = "pancseg-test".into();
    m.graph = Some(g).into();
    m.write_to_bytes().unwrap()
}

#[test]
fn runtime_loads_and_runs_a_graph() {
    let path = pancseg::model::runtime::ensure_loaded(None)
        .expect("ONNX Runtime must be installed for the tests: run scripts/fetch-onnxruntime.sh");
    assert!(path.is_file());
    let version = pancseg::model::runtime::runtime_version(None).unwrap();
    eprintln!("ONNX Runtime {version} from {}", path.display());
    let minor: u32 = version
        .strip_prefix("1.")
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("version {version:?} is not 1.x.y"));
    assert!(minor >= 17, "ONNX Runtime {version} is older than 1.17");

    let env = pancseg::model::runtime::environment(None).unwrap();
    let mut session = ort::session::Session::builder(&env)
        .unwrap()
        .commit_from_memory(&tiny_model())
        .unwrap();
    let x = ort::value::Tensor::from_array(([2usize, 3], vec![0.0f32, 1.0, 2.0, -5.0, 3.0, -1.0]))
        .unwrap();
    let outputs = session.run(ort::inputs!["x" => x]).unwrap();
    let (shape, y) = outputs["y"].try_extract_tensor::<f32>().unwrap();
    assert_eq!(&shape[..], &[2, 3]);
    assert_eq!(y, &[1.0, 0.0, 2.5, 0.0, 1.0, 0.0]);
}

#[test]
fn a_missing_explicit_library_is_a_clear_error() {
    let e = pancseg::model::runtime::resolve_library(Some(std::path::Path::new(
        "/nonexistent/libonnxruntime.so",
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/nonexistent/libonnxruntime.so") && e.contains("does not exist"),
        "{e}"
    );
}
