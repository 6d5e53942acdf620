"""Statistics for funders and the INHOPE network: figures from the store, charts, one offline HTML file."""
