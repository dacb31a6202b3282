//! The local runner serves exactly the template's HTTP routes, with the same functions,
//! and runs the worker with the template's event source settings.

use local_stack::api;
use local_stack::stack::Route;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).expect("template");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

fn functions(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .expect("resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| (id.as_str().expect("logical id").to_owned(), resource))
        .collect()
}

#[test]
fn local_routes_equal_the_template_routes() {
    let template = template();
    let mut declared: Vec<Route> = Vec::new();
    for (id, function) in functions(&template) {
        if let Some(events) = function["Properties"]["Events"].as_hash() {
            for event in events
                .values()
                .filter(|event| event["Type"].as_str() == Some("HttpApi"))
            {
                let props = &event["Properties"];
                declared.push(Route::new(
                    &props["Method"].as_str().expect("method").to_uppercase(),
                    props["Path"].as_str().expect("path"),
                    &id,
                ));
            }
        }
    }
    let mut served = api::routes();
    declared.sort();
    served.sort();
    assert!(!declared.is_empty());
    assert_eq!(served, declared);
}

#[test]
fn every_function_is_built_with_cargo_lambda_for_its_own_binary() {
    let template = template();
    let workspace = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("manifest");
    for (id, function) in functions(&template) {
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("binary");
        assert!(
            workspace.contains(&format!("\"functions/{binary}\"")),
            "{id}: no workspace member for {binary}"
        );
    }
}
