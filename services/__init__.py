"""silentcert domain services: resolver, liveness, deathcheck and the province round pipeline."""
