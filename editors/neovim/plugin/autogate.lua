-- :Autogate {run,pending,approve,reject,diff,rollback,log,mode}, and the statusline refresh.
require('autogate.plugin').load()
