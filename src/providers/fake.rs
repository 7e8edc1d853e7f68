//! A strict in-memory provider for engine tests and benchmarks: no AWS, no latency.
//!
//! It stores resources by natural key, owns them through the same tags as AWS providers, and
//! fails on purpose for names it is told to fail on. Strict: creating something that exists
//! or updating something that does not is an error, as it would be on AWS.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::{
    BoxFuture, Desired, Live, ProviderError, ResourceKind, natural_key, owner_from_tags,
};

#[derive(Debug, Default)]
struct Store {
    resources: BTreeMap<String, Live>,
    calls: Vec<String>,
}

/// One kind, held in memory. Clones share the same store.
#[derive(Debug, Clone)]
pub struct FakeKind {
    kind: Kind,
    store: Arc<Mutex<Store>>,
    fail_on: Arc<Mutex<Vec<String>>>,
}

impl FakeKind {
    pub fn new(kind: Kind) -> Self {
        FakeKind {
            kind,
            store: Arc::default(),
            fail_on: Arc::default(),
        }
    }

    /// Makes create/update/delete of the resource named `name` fail.
    pub fn fail_on(&self, name: &str) {
        if let Ok(mut f) = self.fail_on.lock() {
            f.push(name.to_string());
        }
    }

    /// Every call so far: `create secret.db`, `list_owned`, ...
    pub fn calls(&self) -> Vec<String> {
        self.store
            .lock()
            .map(|s| s.calls.clone())
            .unwrap_or_default()
    }

    /// The stored resources' names.
    pub fn names(&self) -> Vec<String> {
        self.store
            .lock()
            .map(|s| {
                s.resources
                    .values()
                    .filter_map(|l| l.str("name").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Puts a resource in place out of band, as someone clicking in the console would.
    pub fn insert(&self, attrs: BTreeMap<String, Value>) {
        let live = self.live(&attrs);
        if let (Ok(mut s), Some(key)) = (self.store.lock(), natural_key(self.kind, &attrs)) {
            s.resources.insert(key, live);
        }
    }

    fn live(&self, attrs: &BTreeMap<String, Value>) -> Live {
        let tags: Vec<(String, String)> = crate::providers::desired_tags(attrs);
        let owner = owner_from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut live = Live::new(attrs.clone(), owner);
        let name = attrs
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        live.computed.insert(
            "arn".into(),
            Value::String(format!("arn:fake:{}:{name}", self.kind.keyword())),
        );
        live
    }

    fn step(&self, call: &str, desired_name: Option<&str>) -> Result<(), ProviderError> {
        if let Ok(mut s) = self.store.lock() {
            s.calls.push(call.to_string());
        }
        let failing = self.fail_on.lock().map(|f| f.clone()).unwrap_or_default();
        match desired_name {
            Some(name) if failing.iter().any(|f| f == name) => Err(ProviderError::Aws {
                service: "",
                operation: "Fake",
                code: Some("InjectedFailure".into()),
                message: format!("{name} fails on purpose"),
            }),
            _ => Ok(()),
        }
    }
}

fn key_of(kind: Kind, attrs: &BTreeMap<String, Value>) -> Result<String, ProviderError> {
    natural_key(kind, attrs).ok_or_else(|| ProviderError::Input("natural key unknown".into()))
}

impl ResourceKind for FakeKind {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        _desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            self.step("list_owned", None)?;
            let store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            Ok(store
                .resources
                .values()
                .filter(|l| {
                    matches!(&l.owner, crate::providers::Owner::Stack { stack: s, .. } if s == stack)
                })
                .cloned()
                .collect())
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            self.step("read", None)?;
            let store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            Ok(desired
                .iter()
                .map(|d| {
                    natural_key(self.kind, &d.attrs).and_then(|k| store.resources.get(&k).cloned())
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.step(&format!("create {}", desired.address), desired.str("name"))?;
            let key = key_of(self.kind, &desired.attrs)?;
            let live = self.live(&desired.attrs);
            let mut store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            if store.resources.contains_key(&key) {
                return Err(ProviderError::Input(format!("{key} already exists")));
            }
            store.resources.insert(key, live.clone());
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        _live: &'a Live,
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            self.step(&format!("update {}", desired.address), desired.str("name"))?;
            let key = key_of(self.kind, &desired.attrs)?;
            let live = self.live(&desired.attrs);
            let mut store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            match store.resources.get_mut(&key) {
                Some(slot) => *slot = live.clone(),
                None => return Err(ProviderError::NotFound(format!("{key} does not exist"))),
            }
            Ok(live)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.step(
                &format!("delete {}", live.str("name").unwrap_or("?")),
                live.str("name"),
            )?;
            let key = key_of(self.kind, &live.attrs)?;
            let mut store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            store
                .resources
                .remove(&key)
                .map(|_| ())
                .ok_or_else(|| ProviderError::NotFound(format!("{key} does not exist")))
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<crate::providers::Owner>, ProviderError>> {
        Box::pin(async move {
            self.step("owner_now", None)?;
            let key = key_of(self.kind, &live.attrs)?;
            let store = self
                .store
                .lock()
                .map_err(|_| ProviderError::Input("poisoned".into()))?;
            Ok(store.resources.get(&key).map(|l| l.owner.clone()))
        })
    }
}

/// A look-up that finds a plausible thing for whatever it is asked.
#[derive(Debug, Clone)]
pub struct FakeLookup {
    kind: Kind,
}

impl crate::providers::LookupKind for FakeLookup {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>> {
        Box::pin(async move {
            let s = |v: &str| Value::String(v.to_string());
            let mut found = attrs.clone();
            let computed: &[(&str, Value)] = match self.kind {
                Kind::LookupVpc => &[("id", s("vpc-0fake")), ("cidr-block", s("10.0.0.0/16"))],
                Kind::LookupSubnets => &[(
                    "ids",
                    Value::List(vec![s("subnet-0fake1"), s("subnet-0fake2")]),
                )],
                Kind::LookupSecurityGroups => &[("ids", Value::List(vec![s("sg-0fake")]))],
                Kind::LookupCertificate => &[(
                    "arn",
                    s("arn:aws:acm:us-east-1:123456789012:certificate/fake"),
                )],
                _ => &[
                    ("id", s("ZFAKE0000000000")),
                    ("name-servers", Value::List(vec![s("ns-1.fake")])),
                ],
            };
            for (name, value) in computed {
                found.insert((*name).to_string(), value.clone());
            }
            Ok(found)
        })
    }
}

/// Empty in-memory providers for every kind and look-up: what the engine costs without AWS.
pub fn in_memory() -> crate::providers::Providers {
    let mut providers = crate::providers::Providers::default();
    for kind in Kind::MANAGED {
        providers.add(Arc::new(FakeKind::new(kind)));
    }
    for kind in [
        Kind::LookupVpc,
        Kind::LookupSubnets,
        Kind::LookupSecurityGroups,
        Kind::LookupCertificate,
        Kind::LookupHostedZone,
    ] {
        providers.add_lookup(Arc::new(FakeLookup { kind }));
    }
    providers
}
