// Datasets: real data sets read from disk, validated, normalised and served in seeded mini-batches.
//
// - `IDXFile`: the IDX format of (Fashion-)MNIST, gzip'd or plain, read through zlib with every header
//   field and length checked (`DatasetError` says what is wrong and what to do).
// - `FashionMNIST`: the Debian package `dataset-fashion-mnist` (docs/data.md#fashion-mnist) as `LabeledImages`.
// - `MiniBatches`: seeded per-epoch shuffling and batch gathering into preallocated buffers.
