-- Every data cut without a key fingerprint gets the one the warehouse is now masked with.
update meta.data_cuts set key_fingerprint = $key_fingerprint where key_fingerprint is null;
