"""Development tools: benchmarks and local servers. The service images do not install them."""
