<?xml version="1.0" encoding="utf-8" ?>
<ogr:FeatureCollection
     gml:id="aFeatureCollection"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="http://ogr.maptools.org/ lamps_gml.xsd"
     xmlns:ogr="http://ogr.maptools.org/"
     xmlns:gml="http://www.opengis.net/gml/3.2">
  <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>50.7702 6.0839</gml:lowerCorner><gml:upperCorner>50.7761 6.0952</gml:upperCorner></gml:Envelope></gml:boundedBy>
                                                                                                                                                        
  <ogr:featureMember>
    <ogr:lamps_gml gml:id="lamps_gml.0">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>50.7753 6.0839</gml:lowerCorner><gml:upperCorner>50.7753 6.0839</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::4326" gml:id="lamps_gml.geom.0"><gml:pos>50.7753 6.0839</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>V1</ogr:id>
      <ogr:name>Markt</ogr:name>
      <ogr:height_m>7.5</ogr:height_m>
    </ogr:lamps_gml>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:lamps_gml gml:id="lamps_gml.1">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>50.7761 6.0901</gml:lowerCorner><gml:upperCorner>50.7761 6.0901</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::4326" gml:id="lamps_gml.geom.1"><gml:pos>50.7761 6.0901</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>V2</ogr:id>
      <ogr:name>Dom</ogr:name>
      <ogr:height_m>8</ogr:height_m>
    </ogr:lamps_gml>
  </ogr:featureMember>
  <ogr:featureMember>
    <ogr:lamps_gml gml:id="lamps_gml.2">
      <gml:boundedBy><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>50.7702 6.0952</gml:lowerCorner><gml:upperCorner>50.7702 6.0952</gml:upperCorner></gml:Envelope></gml:boundedBy>
      <ogr:geometryProperty><gml:Point srsName="urn:ogc:def:crs:EPSG::4326" gml:id="lamps_gml.geom.2"><gml:pos>50.7702 6.0952</gml:pos></gml:Point></ogr:geometryProperty>
      <ogr:id>V3</ogr:id>
      <ogr:name>Königstraße</ogr:name>
      <ogr:height_m>9</ogr:height_m>
    </ogr:lamps_gml>
  </ogr:featureMember>
</ogr:FeatureCollection>
