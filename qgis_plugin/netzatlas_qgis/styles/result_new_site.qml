<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="255,127,0,255"/><prop k="name" v="star"/><prop k="size" v="4"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
