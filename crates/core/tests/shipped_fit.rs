//! The shipped proxy sets are what labelcast-core derives from the committed results file:
//! calibration/<model>.fit.json (written by `labelcast calibration-report`) must match a fit
//! made now, number for number, so a change to the fitting code or to the results cannot
//! leave docs/calibration.md and the shipped coefficients telling different stories.

use labelcast_core::suite::proxy::proxy_sets;
use labelcast_core::suite::shipped::shipped;
use serde_json::Value;

#[test]
fn the_committed_fit_is_what_the_results_file_gives() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../calibration");
    for run in shipped().unwrap() {
        let path = root.join(format!("{}.fit.json", run.model.name));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let committed: Value = serde_json::from_str(&text).unwrap();
        let committed = committed["proxy"].as_array().unwrap();
        let now = proxy_sets(&run);
        assert_eq!(committed.len(), now.len(), "{}: proxy sets", path.display());
        for (c, p) in committed.iter().zip(&now) {
            assert_eq!(c["name"], p.name.as_str());
            assert_eq!(c["n"], p.n);
            assert_eq!(c["beats_baseline"], p.beats_baseline);
            let fit = &c["fit"];
            assert_eq!(fit["features"], serde_json::to_value(&p.model_fit.features).unwrap());
            let close = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() <= 1e-9;
            assert!(close(&fit["intercept"], p.model_fit.intercept), "{}", p.name);
            for (w, x) in fit["weights"].as_array().unwrap().iter().zip(&p.model_fit.weights) {
                assert!(close(w, *x), "{}", p.name);
            }
            for (k, x) in [
                ("loo_auc_mae", p.loo_auc_mae),
                ("baseline_loo_auc_mae", p.baseline_loo_auc_mae),
                ("coslow_loo_auc_mae", p.coslow_loo_mae),
                ("nested_loo_auc_mae", p.nested_loo_auc_mae),
                ("coverage90", p.coverage),
            ] {
                assert!(close(&c[k], x), "{}: {k} {} vs {x}", p.name, c[k]);
            }
            let perm = &c["coslow_permutation"];
            match p.coslow_permutation {
                Some(t) => {
                    assert!(close(&perm["p"], t.p) && perm["permutations"] == t.permutations, "{}: {perm}", p.name)
                }
                None => assert!(perm.is_null(), "{}", p.name),
            }
            let choice = &c["coslow_choice_nested_loo_mae"];
            match p.coslow_choice_nested_loo_mae {
                Some(x) => assert!(close(choice, x), "{}: {choice} vs {x}", p.name),
                None => assert!(choice.is_null(), "{}", p.name),
            }
        }
    }
}
