"""runback's SQL, one statement per file, in folders by stage (read by `runback.flows.warehouse.sql`)."""
