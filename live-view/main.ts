// kubelab-ui: the live web view of a lab. Placeholder until the process is built.
process.stderr.write("kubelab-ui: not built yet\n");
process.exit(1);
