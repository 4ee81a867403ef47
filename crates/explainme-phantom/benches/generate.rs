//! Phantom generation speed: one 2D case, one 3D case, and a 1,000-case cohort written to
//! disk (the `explainme phantom` path; DESIGN target: 10,000 2D cases in under a minute on
//! 2 cores). There is no Python peer: nothing else makes these phantoms.

use criterion::{Criterion, criterion_group, criterion_main};
use explainme_phantom::{Dims, Phantom};

fn generate(c: &mut Criterion) {
    let two = Phantom::params().seed(1);
    let mut i = 0;
    c.bench_function("render one 64x64 case", |b| {
        b.iter(|| {
            i += 1;
            two.case(i).expect("valid parameters")
        })
    });
    let three = Phantom::params().seed(1).dims(Dims::Three).size(48);
    c.bench_function("render one 48^3 case", |b| {
        b.iter(|| {
            i += 1;
            three.case(i).expect("valid parameters")
        })
    });
    let mut group = c.benchmark_group("cohort");
    group.sample_size(10);
    group.bench_function("write 1000 2D cases", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            Phantom::params()
                .cases(1000)
                .seed(3)
                .write(dir.path(), || {})
                .expect("cohort written")
        })
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
