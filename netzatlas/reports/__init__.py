"""Reports: HTML maps (folium with local Leaflet) and charts."""
