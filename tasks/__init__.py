"""All the work of the crisis-response flows, one package per lifecycle stage."""
