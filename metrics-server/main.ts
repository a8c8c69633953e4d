// metrics-server: serves metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics) from the kubelets' resource metrics,
// behind the apiserver's aggregation layer. Placeholder until the process is built.
process.stderr.write("metrics-server: not built yet\n");
process.exit(1);
