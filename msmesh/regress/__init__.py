"""Feed-forward regressors: HMR (per frame) and t-HMMR (temporal), their weights, training and inference.

Entry points: ``hub.load_regressor`` (weights from the Hub registry, a ``msmesh train`` folder or the
authors' checkpoints), ``predict.regress_tracks`` (the pipeline's regress stage), ``train.train_hmr`` /
``train.train_thmmr`` (``msmesh train``), ``table3.run_table3`` (the temporal comparison on generated data).
"""
