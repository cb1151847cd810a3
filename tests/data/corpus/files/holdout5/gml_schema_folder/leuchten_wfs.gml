<?xml version="1.0" encoding="utf-8" ?>
<ogr:FeatureCollection
     gml:id="aFeatureCollection"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="http://ogr.maptools.org/ schema/leuchten_app.xsd"
     xmlns:ogr="http://ogr.maptools.org/"
     xmlns:gml="http://www.opengis.net/gml/3.2">
  <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>294409.4 5628298.0</gml:lowerCorner><gml:upperCorner>295190 5628966</gml:upperCorner></gml:Envelope></gml:boundedBy>
                                                                                                                                                   
  <ogr:featureMember>
    <ogr:leuchten gml:id="leuchten.0">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>294409.4 5628892.41</gml:lowerCorner><gml:upperCorner>294409.4 5628892.41</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::25832" gml:id="leuchten.geom.0"><gml:pos>294409.4 5628892.41</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>1.10</ogr:id>
      <ogr:name>Markt</ogr:name>
      <ogr:height_m>7.5</ogr:height_m>
    </ogr:leuchten>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:leuchten gml:id="leuchten.1">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>294848 5628966</gml:lowerCorner><gml:upperCorner>294848 5628966</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::25832" gml:id="leuchten.geom.1"><gml:pos>294848 5628966</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>1.20</ogr:id>
      <ogr:name>Dom</ogr:name>
      <ogr:height_m>8</ogr:height_m>
    </ogr:leuchten>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:leuchten gml:id="leuchten.2">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::25832"><gml:lowerCorner>295190 5628298</gml:lowerCorner><gml:upperCorner>295190 5628298</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::25832" gml:id="leuchten.geom.2"><gml:pos>295190 5628298</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>1.30</ogr:id>
      <ogr:name>Königstraße</ogr:name>
      <ogr:height_m>9</ogr:height_m>
    </ogr:leuchten>
  </ogr:featureMember>
</ogr:FeatureCollection>
