"""Streaming input for data sets that do not fit in memory: on-disk shards, tf.data readers,
shard writers and shard-by-shard prediction.

Two shard formats:

- **TFRecord** (``*.tfrecord``, ``*.tfrecords``, ``*.tfrec``): one ``tf.train.Example`` per
  instance, encoded as :mod:`lib_tf.contract` says: float lists ``features`` (d) and
  ``logical_labels`` (c); optionally ``label_distribution`` (c, ground truth, never read for
  training; shards written before the names were unified call it ``distributions``).
- **NumPy** (``*.npy``, read as memory maps): one shard is a pair of files
  ``<stem>.features.npy`` (n_i, d) and ``<stem>.logical_labels.npy`` (n_i, c), 2-D, any float
  dtype. A glob may match either file of a pair (``shards/*.npy`` works).

Readers return ``tf.data.Dataset`` objects of batches (``(features, logical_labels)``, or
features only for the standardisation pass and for a prediction that reads no labels),
finite (one pass = one epoch), float32. Memory is bounded by the batch size, the shuffle buffer and the prefetch
depth, never by the number of instances. Shuffling on disk is approximate, as everywhere with
streaming: shard order is reshuffled every epoch, shards are interleaved, and a shuffle buffer
of ``shuffle_buffer`` instances mixes them; ``shuffle_buffer=0`` reads shards in sorted order,
instance by instance, exactly as the concatenated arrays.

One job per module: :mod:`~lib_tf.data.streaming.shards` (finding shards and their widths),
:mod:`~lib_tf.data.streaming.readers`, :mod:`~lib_tf.data.streaming.writers` and
:mod:`~lib_tf.data.streaming.prediction`. The TFRecord reader and writer are also those of
:mod:`lib_tf.tfx` (gzipped files, keys of its choosing). NumPy + TensorFlow only; nothing here
knows of models: prediction takes any callable from a feature batch (or a batch of features
and logical labels, for a read-out that reads them) to an output batch.
"""
